export type { FleetDeployment, FleetMember, ResolvedFleet, ResolveFleetOptions, ResolveTargetsOptions, TargetSpec } from './target-spec.js';
export { resolveFleet, resolveTargets } from './target-spec.js';
export type { FleetLimits, FleetRunResult, FleetTargetResult, FleetWaves, RunFleetOptions } from './run-fleet.js';
export { forEachTarget, runFleet, splitIntoWaves, waveNumbers } from './run-fleet.js';
export type { FleetStatusResult, FleetStatusTarget, TargetStatus } from './fleet-status.js';
export { NO_CHANGE_APPLIED, fleetStatus } from './fleet-status.js';

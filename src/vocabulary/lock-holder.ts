/** Who holds a target's lock, as the lock document says. */
export interface LockHolder {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly command: string;
  readonly acquiredAt: Date;
  readonly expiresAt: Date;
}

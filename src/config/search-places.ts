// The configuration file names delta looks for; shared by the search and by whoever must not hide them.
export const MODULE_NAME = 'delta';
/** Where the configuration is looked for, in this order (the current folder only); the first found wins. */
export const SEARCH_PLACES = [
  'package.json',
  `.${MODULE_NAME}rc`,
  `.${MODULE_NAME}rc.json`,
  `.${MODULE_NAME}rc.yaml`,
  `.${MODULE_NAME}rc.yml`,
  `.${MODULE_NAME}rc.js`,
  `.${MODULE_NAME}rc.mjs`,
  `.${MODULE_NAME}rc.cjs`,
  `.${MODULE_NAME}rc.ts`,
  `${MODULE_NAME}.config.ts`,
  `${MODULE_NAME}.config.mts`,
  `${MODULE_NAME}.config.cts`,
  `${MODULE_NAME}.config.js`,
  `${MODULE_NAME}.config.mjs`,
  `${MODULE_NAME}.config.cjs`,
  `${MODULE_NAME}.config.json`,
];

// What `npm run simulate` bundles: the simulation and the runner of seed ranges.
export { describe, simulate } from './simulation.js';
export { runSchedules } from './schedules.js';

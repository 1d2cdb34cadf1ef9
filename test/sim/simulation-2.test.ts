// The second half of the run's simulated schedules (see suite.ts).
import { declareScheduleRun } from './suite.js';

declareScheduleRun(1);

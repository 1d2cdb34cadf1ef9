/** The commands of the tool, in the order `--help` lists them. */
import type { Command } from '../command.js';
import { check } from './check.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { importPtb } from './import-ptb.js';
import { inspect } from './inspect.js';
import { migrate } from './migrate.js';

export const COMMANDS: readonly Command[] = [inspect, exportCommand, importCommand, importPtb, migrate, check];

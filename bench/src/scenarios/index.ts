/** Every scenario, in the order `npm run bench` runs them. */
import type { Scenario } from '../scenario';
import { appendScenario } from './append';
import { coldAccountScenario } from './cold-account';
import { commandsScenario } from './commands';
import { commandsBatchScenario } from './commands-batch';
import { hotAccountScenario } from './hot-account';
import { lagScenario } from './lag';
import { readsScenario } from './reads';
import { rebuildScenario } from './rebuild';

export const scenarios: readonly Scenario[] = [
  commandsScenario,
  commandsBatchScenario,
  hotAccountScenario,
  appendScenario,
  rebuildScenario,
  lagScenario,
  readsScenario,
  coldAccountScenario,
];

/** Every scenario of the proof suite, in the order `--scenario all` runs them. */
import type { ScenarioDef } from '../scenario';
import { concurrent } from './concurrent';
import { failover } from './failover';
import { overhead } from './overhead';
import { redisOutage } from './redis-outage';
import { replay } from './replay';
import { scale } from './scale';
import { spike } from './spike';
import { sustained } from './sustained';

export const ALL_SCENARIOS: ScenarioDef[] = [
  overhead,
  concurrent,
  replay,
  failover,
  spike,
  sustained,
  redisOutage,
  scale,
];

/** `nftsentry run`'s fleet: built from the daemon's parts when the config has a `fleet` section. */
import type { Daemon } from '../cli/commands/daemon.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { Fleet } from './fleet.ts';

/** Starts the fleet (never waits for Redis) and hands it to the operations; null without `fleet`. */
export function startFleet(config: Readonly<Config>, daemon: Daemon, log: Logger): Fleet | null {
  if (!config.fleet) return null;
  const fleet = new Fleet(config.fleet, daemon, log);
  daemon.operations.attachFleet(fleet);
  fleet.start();
  return fleet;
}

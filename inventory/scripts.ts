import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import { type LoadedScript, Scripts, loadScripts } from '../common/platform/lua-loader.ts';

/** The inventory's Lua scripts: one file per atomic operation in inventory/lua. */
export const inventoryScriptsDir = fileURLToPath(new URL('./lua', import.meta.url));

let loaded: Map<string, LoadedScript> | undefined;

/** The inventory scripts, read and assembled once per process. */
export function loadInventoryScripts(): Map<string, LoadedScript> {
  loaded ??= loadScripts(inventoryScriptsDir);
  return loaded;
}

/** The inventory scripts registered on a client. */
export function inventoryScripts(client: Redis | Cluster): Scripts {
  return new Scripts(client, loadInventoryScripts());
}

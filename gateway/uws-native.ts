import uWS from 'uWebSockets.js';
import { LivesaleError } from '../common/platform/errors.ts';

/**
 * uWebSockets.js ships native binaries per platform and Node ABI; when none matches (or
 * UWS_USE_FALLBACK is set) it only warns and returns a JavaScript implementation built on `ws`,
 * in which much of the API throws "Not implemented" (app-level publish among it) and which is
 * far slower. A gateway on it would pass its health check and fail under load, so it refuses to
 * start instead. The fallback exports only App and a few helpers; the addon also exports
 * SSLApp, which is how the two are told apart.
 */
export function assertNativeUws(mod: object = uWS): void {
  if (typeof (mod as { SSLApp?: unknown }).SSLApp === 'function') return;
  const target = `${process.platform}-${process.arch}, Node ${process.version} (ABI ${process.versions.modules})`;
  throw new LivesaleError(
    'CONFIG_INVALID',
    `uWebSockets.js did not load its native addon for ${target} and fell back to its JavaScript implementation, which the gateway does not run on; ` +
      'use a Node version package.json "engines" admits (the addon has binaries for it) and unset UWS_USE_FALLBACK',
    { platform: process.platform, arch: process.arch, node: process.version, abi: process.versions.modules },
  );
}

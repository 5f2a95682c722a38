import type { Logger } from 'pino';
import type { AuthInfo } from '../domain/auth.js';
import type { Loaders } from './loaders.js';
import type { Services } from '../services.js';

export type { AuthInfo };

export interface Context {
  auth: AuthInfo | null;
  services: Services;
  loaders: Loaders;
  log: Logger;
}

/** The caller's tenant; resolvers only run after the auth checker, so auth is set. */
export function tenantOf(ctx: Context): string {
  if (!ctx.auth) throw new Error('tenantOf called on an unauthenticated request');
  return ctx.auth.tenantId;
}

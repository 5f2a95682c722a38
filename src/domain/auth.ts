import type { ApiKeyRole } from './enums.js';

/** Who is calling: the API key a request (or WebSocket connection) presented. */
export interface AuthInfo {
  apiKeyId: string;
  tenantId: string;
  role: ApiKeyRole;
  /** An ADMIN key of the default tenant: may create tenants. */
  isOperator: boolean;
}

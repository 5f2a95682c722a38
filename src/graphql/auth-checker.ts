// Roles, by what they may do. A resolver names the roles allowed; an operator is an
// ADMIN key of the default tenant. Failures are top-level errors with a stable code.
import type { AuthChecker } from 'type-graphql';
import type { Context } from './context.js';
import { forbidden, unauthenticated } from './errors.js';

export const Role = {
  READ: ['ADMIN', 'SENDER', 'READER'],
  SEND: ['ADMIN', 'SENDER'],
  ADMIN: ['ADMIN'],
  OPERATOR: ['OPERATOR'],
} as const;

export const authChecker: AuthChecker<Context> = ({ context }, roles) => {
  const auth = context.auth;
  if (!auth) throw unauthenticated();
  if (roles.includes('OPERATOR')) {
    if (auth.isOperator) return true;
    throw forbidden('Only an ADMIN key of the default (operator) tenant may do this');
  }
  if (roles.length === 0 || roles.includes(auth.role)) return true;
  throw forbidden(`An API key with role ${auth.role} may not do this; it needs ${roles.join(' or ')}`);
};

// Imported first by the process entry, before graphql-js and Apollo load: they read
// NODE_ENV once, at load. Unset means production (graphql-js then skips its
// development-only cross-realm checks on every type test: ~8 % of a billing call's CPU);
// an operator's explicit NODE_ENV (development for those checks) is kept.
process.env.NODE_ENV ??= 'production';

// Some polyfills look for `self` or `global` to find the global object.
globalThis.self = globalThis;
globalThis.global = globalThis;

// Order matters: each module may rely on the globals installed by the ones before it.
import './globals.js';
import './text-encoding.js';
import './web-apis.js';
import './fetch-classes.js';
import './host-bridges.js';
import './lockdown.js';

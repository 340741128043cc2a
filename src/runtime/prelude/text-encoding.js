// First: whatwg-url uses TextEncoder when it loads.
import 'fast-text-encoding';

// Gyre's JavaScript SDK for componentize-js. `gyre build` writes this file
// beside your index.js on every build: import it as './gyre.js'.
//
// It turns plain functions into the exports componentize-js expects,
// parses JSON configuration, logs through the host and turns every
// exception into a typed plugin error (an uncaught one would trap).
import { emit } from 'gyre:plugin/log@0.1.0';

/** A typed error the host receives as `plugin-error`. */
export class PluginError extends Error {
  constructor(kind, message, status) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
  toWit() {
    if (this.kind === 'upstream') {
      return { tag: 'upstream', val: { status: this.status ?? 502, message: this.message } };
    }
    return { tag: this.kind, val: this.message };
  }
}

export const invalidConfig = (m) => new PluginError('invalid-config', m);
export const invalidInput = (m) => new PluginError('invalid-input', m);
export const notFound = (m) => new PluginError('not-found', m);
export const denied = (m) => new PluginError('denied', m);
export const unauthorized = (m) => new PluginError('unauthorized', m);
export const internal = (m) => new PluginError('internal', m);
export const upstream = (status, m) => new PluginError('upstream', m, status);

function toWit(e) {
  if (e instanceof PluginError) return e.toWit();
  log.error('uncaught exception', { error: String(e), stack: String(e?.stack ?? '') });
  return { tag: 'internal', val: `${e?.name ?? 'Error'}: ${e?.message ?? e}` };
}

/** Wraps `fn` (sync or async) so that any exception reaches the host as a
 * plugin error; an uncaught one would trap the component. */
export function guard(fn) {
  return (...args) => {
    let result;
    try {
      result = fn(...args);
    } catch (e) {
      throw toWit(e);
    }
    if (result instanceof Promise) {
      return result.catch((e) => {
        throw toWit(e);
      });
    }
    return result;
  };
}

/** Parses JSON text, or throws `error(...)` naming `what`. */
export function parseJson(text, what, error = invalidInput) {
  try {
    return JSON.parse(typeof text === 'string' ? text : new TextDecoder().decode(text));
  } catch (e) {
    throw error(`${what} is not valid JSON: ${e.message}`);
  }
}

/** The user's configuration: a JSON object, with `defaults` for absent keys. */
export function config(text, defaults = {}) {
  const value = parseJson(text || '{}', 'the configuration', invalidConfig);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidConfig('the configuration must be a JSON object');
  }
  return { ...defaults, ...value };
}

/** `obj[key]` as a number, or `error(...)` naming `what`. */
export function number(obj, key, what, error = invalidInput) {
  const value = obj?.[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw error(`${what} must be a number`);
  return value;
}

const fields = (f) => Object.entries(f).map(([key, value]) => ({ key, value: String(value) }));
/** Structured log lines, captured by the host per call. */
export const log = {
  debug: (message, f = {}) => emit('debug', message, fields(f)),
  info: (message, f = {}) => emit('info', message, fields(f)),
  warn: (message, f = {}) => emit('warn', message, fields(f)),
  error: (message, f = {}) => emit('error', message, fields(f)),
};

// --- Verifiers ---

/** The data of the first evidence called `name`, or an invalid-input error. */
export function evidence(request, name) {
  const found = request.evidence.find((e) => e.name === name);
  if (!found) {
    const given = request.evidence.map((e) => e.name).join(', ') || 'none';
    throw invalidInput(`evidence "${name}" is missing (given: ${given})`);
  }
  return found.data;
}

export const evidenceJson = (request, name) => parseJson(evidence(request, name), `evidence "${name}"`);

export const finding = (severity, message, file, line) => ({ severity, message, file, line });

export const verdict = (passed, summary, { score, findings = [] } = {}) => ({ passed, score, summary, findings });

/** The `verification` export for `check(config, request) -> verdict`. */
export function verifier(check) {
  return { verify: guard((request) => check(config(request.config), request)) };
}

// --- Connectors ---

export const operation = (name, description, inputSchema, readOnly = true) => ({
  name,
  description,
  inputSchema: JSON.stringify(inputSchema),
  readOnly,
});

/** The `operations` export: `invoke(config, operation, input)` returns any
 * JSON-serializable value. */
export function connector(operations, invoke) {
  return {
    describe: () => operations,
    invoke: guard(async (configText, name, inputText) => {
      const known = operations.map((o) => o.name);
      if (!known.includes(name)) throw notFound(`unknown operation "${name}"; this connector offers ${known.join(', ')}`);
      const cfg = config(configText);
      const input = parseJson(inputText || '{}', 'the input');
      if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalidInput('the input must be a JSON object');
      return JSON.stringify(await invoke(cfg, name, input));
    }),
  };
}

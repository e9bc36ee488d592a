/**
 * Redaction of connection-string secrets. Every path that prints, logs or
 * stores text that may contain a URI goes through `redact()`.
 */

const SCHEME = /mongodb(?:\+srv)?:\/\//gi;
// Query options whose value is a secret on its own (AWS session tokens, key file passwords).
const SECRET_OPTIONS = /((?:tlsCertificateKeyFilePassword|sslPEMKeyPassword|AWS_SESSION_TOKEN|password)\s*[=:]\s*)([^&\s,'"]+)/gi;
// Only white space ends a URI here: the driver accepts ( ) ' [ ] { } < > " , and @ unescaped in a
// password, so none of them may end the search for the user-info's '@' (which is found by the
// last '@' of the authority). The next scheme ends it too.
const TERMINATORS = new Set([' ', '\t', '\n', '\r']);
const NEXT_SCHEME = /,?mongodb(?:\+srv)?:\/\//i;
export const REDACTED = '***';

/**
 * Hides the password of every `mongodb://` / `mongodb+srv://` URI inside
 * `text` (`mongodb://user:***@host`), secret query options, and any extra
 * literal `secrets` (passwords known from the configuration, raw and
 * URL-decoded), so that a driver message quoting one is caught too.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = redactUris(text);
  out = out.replace(SECRET_OPTIONS, (_all, key: string) => `${key}${REDACTED}`);
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join(REDACTED);
  }
  return out;
}

function redactUris(text: string): string {
  let result = '';
  let cursor = 0;
  SCHEME.lastIndex = 0;
  for (let match = SCHEME.exec(text); match !== null; match = SCHEME.exec(text)) {
    const start = match.index + match[0].length;
    let end = start;
    while (end < text.length && !TERMINATORS.has(text[end] ?? ' ')) end += 1;
    const next = NEXT_SCHEME.exec(text.slice(start, end));
    if (next !== null) end = start + next.index;
    const token = text.slice(start, end);
    // The userinfo ends at the LAST '@' of the authority: passwords with an
    // unescaped '@' are invalid but common, and hiding too much is the safe side.
    const at = lastAuthorityAt(token);
    result += text.slice(cursor, start);
    if (at > 0) {
      const userinfo = token.slice(0, at);
      const colon = userinfo.indexOf(':');
      result += colon >= 0 ? `${userinfo.slice(0, colon)}:${REDACTED}` : userinfo;
      result += token.slice(at);
    } else {
      result += token;
    }
    cursor = end;
    SCHEME.lastIndex = end;
  }
  return result + text.slice(cursor);
}

/** Where the user-info of a URI (after its scheme) ends: the index of its `@`, or -1 when it has none. */
export function lastAuthorityAt(token: string): number {
  const at = token.lastIndexOf('@');
  if (at < 0) return -1;
  // An '@' after the host list (in the path or the options) is not userinfo,
  // unless no '/' or '?' separates it from the start: then keep the last one.
  const firstSlash = token.search(/[/?]/);
  if (firstSlash >= 0 && firstSlash < at) {
    const before = token.slice(0, firstSlash).lastIndexOf('@');
    // Either the authority has its own '@' (use it) or the password holds '/' or '?'.
    return before >= 0 ? before : at;
  }
  return at;
}

/** The password (raw and decoded) of a URI, for `redact(text, secrets)`. */
export function secretsOf(uri: string | undefined): string[] {
  if (uri === undefined) return [];
  const scheme = /^mongodb(?:\+srv)?:\/\//i.exec(uri);
  if (scheme === null) return [];
  const token = uri.slice(scheme[0].length);
  const at = lastAuthorityAt(token);
  if (at <= 0) return [];
  const userinfo = token.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return [];
  const raw = userinfo.slice(colon + 1);
  const secrets = [raw];
  try {
    const decoded = decodeURIComponent(raw);
    if (decoded !== raw) secrets.push(decoded);
  } catch {
    // An invalid %-escape cannot be decoded; the raw form is still hidden.
  }
  return secrets.filter((s) => s.length > 0);
}

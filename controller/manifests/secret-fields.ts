// Fields whose value is a secret, or could be the plaintext of one pasted by mistake: a sealed
// value, a password, a JWK's private members. Problems found in them describe the value and never
// quote it (schema-messages.ts, parse.ts), so a pasted secret is not copied into check comments,
// CI logs, the status or server logs. Only below the top level: `spec.…`.
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['sealed', 'password', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

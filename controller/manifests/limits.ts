// Bounds on what a manifest file may be, shared by both YAML parsers.

/** Larger files are refused before they are read as text. */
export const MAX_FILE_BYTES = 256 * 1024;

/** Collections nested deeper are refused; real manifests nest four or five levels. */
export const MAX_DEPTH = 32;

/**
 * A list or mapping with more entries is refused before the schema sees it: no field allows more
 * than 200 items, and some schema checks (uniqueItems over items given by $ref) cost the square of
 * a list's length, which a 256 KiB file of short items would make seconds of blocked event loop.
 */
export const MAX_ENTRIES = 1000;

/**
 * The longest token lifetimes a Plan may set. The schema's duration form alone allows 999999999d
 * (2.7 million years), past what a JavaScript Date can hold, which made a token listing fail; and
 * a lifetime of years is not a policy anyone reviews for. A day for access tokens (they cannot be
 * taken back from a resource server that checks them locally), a year for refresh tokens.
 */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;
export const MAX_REFRESH_TOKEN_TTL_SECONDS = 366 * 86_400;

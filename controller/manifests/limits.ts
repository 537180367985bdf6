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

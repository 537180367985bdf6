// Bounds on what a manifest file may be, shared by both YAML parsers.

/** Larger files are refused before they are read as text. */
export const MAX_FILE_BYTES = 256 * 1024;

/** Collections nested deeper are refused; real manifests nest four or five levels. */
export const MAX_DEPTH = 32;

/**
 * The one size limit of a body Hookpost takes or makes: a request body (the front door, a
 * source plugin's webhook) and a rendered delivery body (the template budget) alike.
 */

/** Largest body accepted or rendered; webhook configurations and CMS events fit easily. */
export const MAX_BODY_BYTES = 1024 * 1024;

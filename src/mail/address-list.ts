/**
 * Comma-separated e-mail address lists, as stored in a webhook's `errorEmailTo`.
 */

// The WHATWG HTML definition of a valid e-mail address: strict enough to catch typos, loose
// enough for every address a mail server delivers to (including single-label hosts).
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface AddressList {
  addresses: string[];
  invalid: string[];
}

/**
 * Splits on commas (and semicolons, which people type too), trims, drops empties and
 * duplicates, and sorts out the addresses that are not valid.
 *
 * @example parseAddressList("a@x.com, b@") // { addresses: ["a@x.com"], invalid: ["b@"] }
 */
export function parseAddressList(text: string): AddressList {
  const addresses: string[] = [];
  const invalid: string[] = [];
  for (const part of text.split(/[,;]/)) {
    const address = part.trim();
    if (address === "") continue;
    const bucket = EMAIL.test(address) && address.length <= 254 ? addresses : invalid;
    if (!bucket.includes(address)) bucket.push(address);
  }
  return { addresses, invalid };
}

/**
 * Which addresses are not on the public internet: loopback, private, link-local, carrier-grade NAT,
 * unspecified, multicast and the like (IPv4 and IPv6, IPv4-mapped included). A webhook target there
 * would let whoever defines endpoints make the ledger reach inside its own network, so outside
 * development such targets are refused when defined and, after DNS, when delivered to.
 */
import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  internal.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  internal.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address (v4 or v6, as text) is not a public one. */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isInternalAddress(mapped);
  const family = isIP(address);
  if (family === 4) return internal.check(address, 'ipv4');
  if (family === 6) return internal.check(address, 'ipv6');
  return false;
}

/** Whether a URL's host names an internal place by itself: `localhost`, or an internal IP literal. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isInternalAddress(host);
}

/**
 * A DNS lookup for outgoing requests that refuses internal addresses: the check is made on the
 * address the connection will use, so a name that resolves inside cannot slip through.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as dns.LookupAddress[];
    const refused = list.find((entry) => isInternalAddress(entry.address));
    if (refused || list.length === 0) {
      const failure = Object.assign(new Error(`${hostname} resolves to an internal address (${refused?.address})`), {
        code: 'EINTERNALADDRESS',
      });
      return callback(failure, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    const [first] = list;
    return callback(null, first!.address, first!.family);
  });
};

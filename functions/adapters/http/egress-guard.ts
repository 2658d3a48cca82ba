import { BlockList, isIP, type LookupFunction, type Socket } from 'node:net';

// SSRF guard for every outbound call the vault makes on a tenant's behalf
// (webhooks first). A destination is refused when it is, or resolves to, an
// address inside the cloud or the host itself: private, loopback, link-local
// (instance metadata), CGNAT, unspecified, multicast or reserved ranges, in
// IPv4, IPv6, or IPv4 wrapped in IPv6. The check runs inside the connection:
// every address DNS returns is vetted before the socket is opened, and the
// address the socket actually reached is vetted again, so DNS rebinding (a
// name that resolves to a public address when checked and a private one when
// used) cannot slip through. Hosts in SCAIVAULT_EGRESS_ALLOWLIST skip it.

/** The destination was refused by the egress policy. Final: retrying cannot change the answer. */
export class EgressRefusedError extends Error {
  override readonly name = 'EgressRefusedError';
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`egress to ${host} refused: ${reason}`);
  }
}

const blockList = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", incl. the unspecified 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (and Alibaba Cloud's metadata service)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 instance metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast
] as const) {
  blockList.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local, incl. fd00:ec2::254 (EC2 IMDS over IPv6)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
  ['100::', 64], // discard-only
] as const) {
  blockList.addSubnet(network, prefix, 'ipv6');
}

/** Names that reach a cloud's instance metadata service without a link-local address in the URL. */
const METADATA_HOSTNAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.com',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.oraclecloud.com',
]);

/** Lower case, no IPv6 brackets, no trailing dot, no zone id. */
export const normalizeHost = (host: string): string =>
  host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .replace(/%.*$/, '');

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tail allowed), or undefined. */
const ipv6Groups = (address: string): number[] | undefined => {
  let text = address;
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const bytes = dotted.slice(1).map(Number);
    if (bytes.some((b) => b > 255)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  return groups.some(Number.isNaN) ? undefined : groups;
};

const ipv4FromGroups = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/**
 * The IPv4 address an IPv6 address wraps, if any: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 */
const embeddedIpv4 = (groups: readonly number[]): string | undefined => {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const zeros = (...values: (number | undefined)[]) => values.every((v) => v === 0);
  if (zeros(g0, g1, g2, g3, g4) && (g5 === 0xffff || g5 === 0)) return ipv4FromGroups(g6, g7);
  if (zeros(g0, g1, g2, g3, g5) && g4 === 0xffff) return ipv4FromGroups(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && zeros(g2, g3, g4, g5)) return ipv4FromGroups(g6, g7);
  if (g0 === 0x2002 && g1 !== undefined && g2 !== undefined) return ipv4FromGroups(g1, g2);
  return undefined;
};

/** Why an IP address may not be reached, or undefined when it may. Anything unparsable is refused. */
export const forbiddenAddressReason = (address: string): string | undefined => {
  const host = normalizeHost(address);
  const family = isIP(host);
  if (family === 4) return blockList.check(host, 'ipv4') ? 'non-public IPv4 address' : undefined;
  if (family !== 6) return 'not an IP address';
  const groups = ipv6Groups(host);
  if (!groups) return 'unparsable IPv6 address';
  const wrapped = embeddedIpv4(groups);
  // ::1 and :: are themselves IPv4-compatible in form; the IPv6 list decides for them.
  if (wrapped && !(wrapped === '0.0.0.1' || wrapped === '0.0.0.0')) {
    return blockList.check(wrapped, 'ipv4') ? 'IPv6 address wrapping a non-public IPv4 address' : undefined;
  }
  return blockList.check(host, 'ipv6') ? 'non-public IPv6 address' : undefined;
};

export const isForbiddenAddress = (address: string): boolean => forbiddenAddressReason(address) !== undefined;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Name resolution as the guard uses it; tests inject their own. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

// node:dns/promises on first use, not at import: a cold start that never vets a destination does not load it.
export const systemResolver: Resolver = (hostname) => process.getBuiltinModule('node:dns/promises').lookup(hostname, { all: true, verbatim: true });

export interface EgressPolicyOptions {
  /** Hosts (names or IP literals, as written in URLs) exempt from the guard. */
  readonly allowlist: readonly string[];
  readonly resolver?: Resolver;
}

/** The egress decision for one destination host, before and after connecting. */
export class EgressPolicy {
  private readonly allowlist: ReadonlySet<string>;
  readonly resolver: Resolver;

  constructor(options: EgressPolicyOptions) {
    this.allowlist = new Set(options.allowlist.map(normalizeHost).filter(Boolean));
    this.resolver = options.resolver ?? systemResolver;
  }

  isAllowlisted(host: string): boolean {
    return this.allowlist.has(normalizeHost(host));
  }

  /** Checks what can be checked from the host alone: metadata names and IP literals. */
  checkHost(host: string): void {
    const name = normalizeHost(host);
    if (this.allowlist.has(name)) return;
    if (METADATA_HOSTNAMES.has(name)) throw new EgressRefusedError(name, 'cloud metadata hostname');
    if (isIP(name)) {
      const reason = forbiddenAddressReason(name);
      if (reason) throw new EgressRefusedError(name, reason);
    }
  }

  /** Resolves `host` and refuses it if any address it resolves to is forbidden. */
  async resolve(host: string): Promise<readonly ResolvedAddress[]> {
    const name = normalizeHost(host);
    this.checkHost(name);
    const addresses = await this.resolver(name);
    if (addresses.length === 0) throw Object.assign(new Error(`no address for ${name}`), { code: 'ENOTFOUND' });
    if (!this.allowlist.has(name)) {
      for (const { address } of addresses) {
        const reason = forbiddenAddressReason(address);
        if (reason) throw new EgressRefusedError(name, `resolves to a ${reason}`);
      }
    }
    return addresses;
  }

  /** A `net.connect` lookup hook that only ever yields vetted addresses. */
  lookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname).then(
        (addresses) => {
          if (options.all) {
            callback(
              null,
              addresses.map((a) => ({ address: a.address, family: a.family })),
            );
            return;
          }
          const wanted = options.family === 6 || options.family === 'IPv6' ? 6 : options.family === 4 || options.family === 'IPv4' ? 4 : 0;
          const chosen = addresses.find((a) => wanted === 0 || a.family === wanted) ?? addresses[0];
          callback(null, chosen?.address ?? '', chosen?.family ?? 4);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }

  /** After connecting: the peer the socket actually reached must be allowed too. */
  checkConnected(host: string, socket: Pick<Socket, 'remoteAddress'>): void {
    if (this.isAllowlisted(host)) return;
    const remote = socket.remoteAddress;
    if (!remote) throw new EgressRefusedError(normalizeHost(host), 'peer address unknown');
    const reason = forbiddenAddressReason(remote);
    if (reason) throw new EgressRefusedError(normalizeHost(host), `connected to a ${reason}`);
  }
}

/**
 * The "client properties" a user account announces: in Identify and, base64-encoded, in the
 * `X-Super-Properties` header of REST calls. They describe a desktop browser whose user agent is
 * the account's configured one, since Discord compares the two.
 */

/** Client properties as the web client sends them; extra keys are passed through. */
export type ClientProperties = Record<string, unknown> & {
  os: string;
  browser: string;
  device: string;
  browser_user_agent: string;
  browser_version: string;
};

/** The properties for this user agent, with `overrides` winning. */
export function clientProperties(
  userAgent: string,
  overrides: Record<string, unknown> = {},
): ClientProperties {
  return {
    os: osOf(userAgent),
    browser: browserOf(userAgent),
    device: '',
    system_locale: 'en-US',
    browser_user_agent: userAgent,
    browser_version: /(?:Chrome|Firefox|Version)\/([\d.]+)/.exec(userAgent)?.[1] ?? '',
    os_version: /Windows NT ([\d.]+)/.exec(userAgent)?.[1] ?? '',
    referrer: '',
    referring_domain: '',
    referrer_current: '',
    referring_domain_current: '',
    release_channel: 'stable',
    client_build_number: 222963,
    client_event_source: null,
    ...overrides,
  };
}

/** The `X-Super-Properties` header value. */
export function superPropertiesHeader(props: ClientProperties): string {
  return Buffer.from(JSON.stringify(props), 'utf8').toString('base64');
}

function osOf(ua: string): string {
  if (/Windows/.test(ua)) return 'Windows';
  if (/Mac OS X|Macintosh/.test(ua)) return 'Mac OS X';
  if (/Android/.test(ua)) return 'Android';
  if (/iPhone|iPad/.test(ua)) return 'iOS';
  if (/Linux/.test(ua)) return 'Linux';
  return 'Windows';
}

function browserOf(ua: string): string {
  if (/Edg\//.test(ua)) return 'Edge';
  if (/Firefox\//.test(ua)) return 'Firefox';
  if (/Chrome\//.test(ua)) return 'Chrome';
  if (/Safari\//.test(ua)) return 'Safari';
  return 'Chrome';
}

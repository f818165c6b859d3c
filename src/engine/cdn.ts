/**
 * `imageUrl` is the URL Discord sent with the Discord CDN origins replaced by `proxy.cdn` when
 * that differs (SPEC §6.7): users behind a reverse proxy or a firewall can still load the image.
 */
const DISCORD_ORIGINS = ['https://cdn.discordapp.com', 'https://media.discordapp.net'];

export function replaceCdn(url: string, cdnOrigin: string): string {
  const target = cdnOrigin.replace(/\/+$/, '');
  for (const origin of DISCORD_ORIGINS) {
    if (url.startsWith(`${origin}/`) && origin !== target) return target + url.slice(origin.length);
  }
  return url;
}

/**
 * Albums arrive as separate messages sharing a `media_group_id`, with no "last item" marker: the
 * messages are buffered per album and handed over together once no new one came for a short while.
 * In a cluster behind a load balancer the parts of one album may reach different instances: they
 * are then buffered in Redis ({@link SharedAlbums}) and the first instance whose wait ends after
 * the album went quiet takes them all, the others nothing.
 */

/** Album parts kept where every instance sees them. */
export interface SharedAlbums {
  /** Stores one part (JSON) and marks the album as changed now. */
  addPart(key: string, json: string): Promise<void>;
  /**
   * Every part, once none came for `quietMs` (nobody else gets them then); else the ms still to
   * wait; null when another instance took them already.
   */
  takeParts(key: string, quietMs: number): Promise<string[] | number | null>;
}

export class MediaGroups<M> {
  private readonly groups = new Map<string, { items: M[]; timer: NodeJS.Timeout }>();
  /** Cluster: the wait of each album this instance got a part of. */
  private readonly waits = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly debounceMs: number,
    private readonly onAlbum: (items: M[]) => void,
    private readonly shared?: { albums: SharedAlbums; onError(err: Error): void },
  ) {}

  add(key: string, item: M): void {
    if (this.shared) {
      const { albums, onError } = this.shared;
      albums.addPart(key, JSON.stringify(item)).then(
        () => this.wait(key, this.debounceMs),
        (err: Error) => {
          onError(err);
          this.addLocal(key, item);
        },
      );
      return;
    }
    this.addLocal(key, item);
  }

  /** Drops albums still being collected. */
  stop(): void {
    for (const g of this.groups.values()) clearTimeout(g.timer);
    this.groups.clear();
    for (const t of this.waits.values()) clearTimeout(t);
    this.waits.clear();
  }

  private addLocal(key: string, item: M): void {
    const group = this.groups.get(key);
    if (group) clearTimeout(group.timer);
    const items = group?.items ?? [];
    items.push(item);
    const timer = setTimeout(() => {
      this.groups.delete(key);
      this.onAlbum(items);
    }, this.debounceMs);
    this.groups.set(key, { items, timer });
  }

  private wait(key: string, ms: number): void {
    const { albums, onError } = this.shared as NonNullable<typeof this.shared>;
    const armed = this.waits.get(key);
    if (armed) clearTimeout(armed);
    const timer = setTimeout(() => {
      this.waits.delete(key);
      albums.takeParts(key, this.debounceMs).then((got) => {
        if (typeof got === 'number') this.wait(key, Math.max(1, got));
        else if (got && got.length > 0) this.onAlbum(got.map((json) => JSON.parse(json) as M));
      }, onError);
    }, ms);
    this.waits.set(key, timer);
  }
}

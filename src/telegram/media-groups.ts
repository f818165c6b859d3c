/**
 * Albums arrive as separate messages sharing a `media_group_id`, with no "last item" marker: the
 * messages are buffered per album and handed over together once no new one came for a short while.
 */
export class MediaGroups<M> {
  private readonly groups = new Map<string, { items: M[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly debounceMs: number,
    private readonly onAlbum: (items: M[]) => void,
  ) {}

  add(key: string, item: M): void {
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

  /** Drops albums still being collected. */
  stop(): void {
    for (const g of this.groups.values()) clearTimeout(g.timer);
    this.groups.clear();
  }
}

/**
 * The checks a composed YAML document passes before it becomes a plain value: values are text,
 * numbers, booleans or null in maps and sequences (no timestamps, binary data, sets or ordered
 * maps), keys are unique text, every alias has an anchor before it and is not inside it, nesting is
 * at most MAX_NESTING deep and aliases add at most MAX_ALIAS_NODES nodes once expanded. The schema
 * walks the expanded value, so these bound its work ("billion laughs", fan-out into long lists).
 *
 * Two iterative passes (a document nested as deep as the parser accepts never exhausts the stack
 * here). The first, in document order, resolves each alias to the last anchor of its name before
 * it, as the YAML library does, and checks keys and values. The second computes each node's size
 * and depth once expanded, memoised, and finds alias cycles.
 */
import { type Alias, isAlias, isMap, isScalar, isSeq, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { shown } from './problem-text.ts';

/** Deepest nesting of maps and sequences (the schema's own deepest is 6: policy.rules[].match.sids). */
export const MAX_NESTING = 32;
/** Most nodes that aliases may add to the document once expanded. */
export const MAX_ALIAS_NODES = 100_000;

export type YamlNode = Scalar | Alias | YAMLMap | YAMLSeq;
type Key = string | number;

export interface WalkProblem {
  readonly path: readonly Key[];
  readonly message: string;
  readonly node: YamlNode | undefined;
}

const CORE_COLLECTION_TAGS = new Set([undefined, 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);

function describeScalar(value: unknown): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return null;
  if (value instanceof Date) return 'a timestamp';
  if (ArrayBuffer.isView(value)) return 'binary data';
  return `a value of type ${typeof value}`;
}

function shortTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

/** Walks one document from its root; `at` says where an offset is, for messages. */
export class DocumentWalk {
  private readonly root: YamlNode;
  private readonly at: (offset: number | undefined) => string;
  private readonly place = new Map<YamlNode, { parent: YamlNode | null; key: Key }>();
  private readonly target = new Map<Alias, YamlNode>();
  private readonly found: WalkProblem[] = [];
  private literal = 0;

  constructor(root: YamlNode, at: (offset: number | undefined) => string) {
    this.root = root;
    this.at = at;
  }

  problems(): WalkProblem[] {
    this.resolve();
    if (this.found.length === 0) this.measure();
    return this.found;
  }

  private pathOf(node: YamlNode): Key[] {
    const path: Key[] = [];
    for (let p = this.place.get(node); p?.parent; p = this.place.get(p.parent)) path.push(p.key);
    return path.reverse();
  }

  private report(node: YamlNode, message: string, path = this.pathOf(node)): void {
    this.found.push({ path, message, node });
  }

  private resolve(): void {
    const anchors = new Map<string, YamlNode>();
    this.place.set(this.root, { parent: null, key: '' });
    const stack: YamlNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      this.literal++;
      if (!isAlias(node) && node.anchor) anchors.set(node.anchor, node);
      const children: Array<[YamlNode, Key]> = [];
      if (isAlias(node)) {
        const t = anchors.get(node.source);
        if (t) this.target.set(node, t);
        else this.report(node, `alias ${shown(`*${node.source}`)} has no anchor of that name before it`);
      } else if (isScalar(node)) {
        const what = describeScalar(node.value);
        if (what) this.report(node, `${what} is not allowed: a value is text, a number, true, false or null`);
      } else if (isMap(node) || isSeq(node)) {
        if (!CORE_COLLECTION_TAGS.has(node.tag)) {
          this.report(
            node,
            `the tag ${shown(shortTag(node.tag!))} is not allowed: a collection is a map or a sequence`,
          );
          continue;
        }
        if (isMap(node)) this.mapChildren(node, children);
        else
          node.items.forEach((item, i) => {
            if (item !== null) children.push([item as YamlNode, i]);
          });
      } else {
        this.report(node, 'a YAML node of an unknown kind');
      }
      for (let i = children.length - 1; i >= 0; i--) {
        const [child, key] = children[i]!;
        this.place.set(child, { parent: node, key });
        stack.push(child);
      }
    }
  }

  private mapChildren(map: YAMLMap, children: Array<[YamlNode, Key]>): void {
    const seen = new Map<string, YamlNode>();
    for (const pair of map.items) {
      const keyNode = pair.key as YamlNode;
      // stringKeys makes the parser refuse any other key; this holds the types to it.
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.report(map, 'a key that is not text');
        continue;
      }
      const key = keyNode.value;
      const earlier = seen.get(key);
      if (earlier) {
        this.report(keyNode, `duplicate key (first${this.at(earlier.range?.[0])})`, [...this.pathOf(map), key]);
      }
      seen.set(key, keyNode);
      children.push([keyNode, key]);
      if (pair.value !== null && pair.value !== undefined) children.push([pair.value as YamlNode, key]);
    }
  }

  private childrenOf(node: YamlNode): YamlNode[] {
    if (isAlias(node)) {
      const t = this.target.get(node);
      return t ? [t] : [];
    }
    if (isMap(node)) {
      const out: YamlNode[] = [];
      for (const pair of node.items) {
        out.push(pair.key as YamlNode);
        if (pair.value) out.push(pair.value as YamlNode);
      }
      return out;
    }
    if (isSeq(node)) return node.items.filter((i) => i !== null) as YamlNode[];
    return [];
  }

  private measure(): void {
    const size = new Map<YamlNode, number>();
    const depth = new Map<YamlNode, number>();
    const onPath = new Set<YamlNode>();
    let biggest: { alias: Alias; size: number } | undefined;
    const frames: Array<{ node: YamlNode; children: YamlNode[]; next: number }> = [];
    const enter = (node: YamlNode) => {
      onPath.add(node);
      frames.push({ node, children: this.childrenOf(node), next: 0 });
    };
    enter(this.root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const child = frame.children[frame.next];
      if (child !== undefined) {
        frame.next++;
        if (onPath.has(child)) {
          this.report(frame.node, `alias ${shown(`*${(frame.node as Alias).source}`)} is inside the node it refers to`);
          frame.children[frame.next - 1] = frame.node;
        } else if (!size.has(child)) {
          enter(child);
        }
        continue;
      }
      frames.pop();
      onPath.delete(frame.node);
      const { node } = frame;
      const collection = isMap(node) || isSeq(node);
      let s = isAlias(node) ? 0 : 1;
      let d = 0;
      for (const c of frame.children) {
        // A cycle's alias stands for itself: one node, no depth.
        s += c === node ? 1 : size.get(c)!;
        d = Math.max(d, c === node ? 0 : depth.get(c)!);
      }
      // Saturates: an alias bomb's true size overflows even a double.
      size.set(node, Math.min(s, Number.MAX_SAFE_INTEGER));
      depth.set(node, d + (collection ? 1 : 0));
      if (isAlias(node) && (biggest === undefined || s > biggest.size)) biggest = { alias: node, size: s };
    }
    if (this.found.length > 0) return;
    if (depth.get(this.root)! > MAX_NESTING) this.reportDepth(depth);
    const added = size.get(this.root)! - this.literal;
    if (added > MAX_ALIAS_NODES && biggest) {
      this.report(
        biggest.alias,
        `aliases repeat ${added} nodes, more than the ${MAX_ALIAS_NODES} allowed (${shown(`*${biggest.alias.source}`)} alone repeats ${biggest.size})`,
      );
    }
  }

  /** Reports the path, through aliases, to the first collection nested deeper than MAX_NESTING. */
  private reportDepth(depth: Map<YamlNode, number>): void {
    const path: Key[] = [];
    let node = this.root;
    for (let level = 1; level <= MAX_NESTING; level++) {
      const want = depth.get(node)! - 1;
      const next = this.deepestChild(node, want, depth);
      if (!next) break;
      path.push(next[1]);
      node = next[0];
    }
    this.report(node, `nested more than ${MAX_NESTING} levels deep`, path);
  }

  private deepestChild(node: YamlNode, want: number, depth: Map<YamlNode, number>): [YamlNode, Key] | undefined {
    // An alias has its target's depth; the walk goes on in the target.
    const resolved = (n: YamlNode): YamlNode => (isAlias(n) ? (this.target.get(n) ?? n) : n);
    const n = resolved(node);
    if (isMap(n)) {
      for (const pair of n.items) {
        const v = pair.value ? resolved(pair.value as YamlNode) : undefined;
        if (v && depth.get(v) === want) return [v, (pair.key as Scalar).value as string];
      }
    } else if (isSeq(n)) {
      for (let i = 0; i < n.items.length; i++) {
        const v = n.items[i] ? resolved(n.items[i] as YamlNode) : undefined;
        if (v && depth.get(v) === want) return [v, i];
      }
    }
    return undefined;
  }
}

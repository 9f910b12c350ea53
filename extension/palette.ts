/**
 * Entity colours. Pure data (no `vscode` import) so that the tests can compute the colours they look for.
 *
 * The defaults are the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies). Each
 * type maps to a family; each family has two theme colours contributed in package.json (`contributes.colors`):
 * `metabioner.entity.<family>` (underline/border, hover legend) and `metabioner.entity.<family>Background`.
 * Types outside the known families take one of the `other*` slots, chosen by a stable hash of their name.
 */
export const FAMILIES = ['disease', 'chemical', 'gene', 'species', 'cell', 'other1', 'other2', 'other3'] as const;
export type Family = (typeof FAMILIES)[number];

/** Okabe–Ito colours per family: [dark and light theme border, high-contrast border]. */
export const FAMILY_COLOURS: Record<Family, { border: string; light: string; hc: string; label: string }> = {
  disease: { border: '#E69F00', light: '#B07800', hc: '#FFB000', label: 'orange' },
  chemical: { border: '#56B4E9', light: '#1F78B4', hc: '#7FD0FF', label: 'sky blue' },
  gene: { border: '#009E73', light: '#007A58', hc: '#00D89C', label: 'bluish green' },
  species: { border: '#F0E442', light: '#8A7F00', hc: '#FFF35C', label: 'yellow' },
  cell: { border: '#CC79A7', light: '#A34D7E', hc: '#FF9AD2', label: 'reddish purple' },
  other1: { border: '#D55E00', light: '#B04A00', hc: '#FF7A1A', label: 'vermillion' },
  other2: { border: '#0072B2', light: '#005A8C', hc: '#3FA9FF', label: 'blue' },
  other3: { border: '#BBBBBB', light: '#666666', hc: '#FFFFFF', label: 'grey' },
};

/** Alpha of the background fill (hex byte appended to the border colour). */
export const BACKGROUND_ALPHA = '40';

const FAMILY_OF: [RegExp, Family][] = [
  [/^(disease|disorder|disease_?or_?syndrome|ncbi-?disease)/i, 'disease'],
  [/^(chemical|chem|drug|compound|simple_chemical)/i, 'chemical'],
  [/^(gene|protein|dna|rna|gene_?or_?gene_?product|gene\/protein)/i, 'gene'],
  [/^(species|organism|taxon)/i, 'species'],
  [/^(cell)/i, 'cell'],
];

export function familyOf(type: string): Family {
  for (const [re, family] of FAMILY_OF) if (re.test(type)) return family;
  let h = 0;
  for (const ch of type) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return (['other1', 'other2', 'other3'] as const)[h % 3];
}

export const colourId = (family: Family): string => `metabioner.entity.${family}`;
export const backgroundColourId = (family: Family): string => `metabioner.entity.${family}Background`;

/** `#RRGGBB` or `#RRGGBBAA` as the `rgb()`/`rgba()` string a browser's computed style reports. */
export function cssColour(hex: string): string {
  const h = hex.replace('#', '');
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  if (h.length === 8) {
    const a = Math.round((parseInt(h.slice(6, 8), 16) / 255) * 1000) / 1000;
    return `rgba(${r}, ${g}, ${b}, ${a})`;
  }
  return `rgb(${r}, ${g}, ${b})`;
}

export type ThemeKind = 'dark' | 'light' | 'highContrast' | 'highContrastLight';

/** A family's default underline and fill in a kind of theme (what `contributes.colors` declares). */
export function themeColours(family: Family, kind: ThemeKind): { border: string; background: string } {
  const c = contributedColours();
  return { border: c.find((x) => x.id === colourId(family))!.defaults[kind], background: c.find((x) => x.id === backgroundColourId(family))!.defaults[kind] };
}

/** The `contributes.colors` entries of package.json (kept in sync by a test). */
export function contributedColours(): { id: string; description: string; defaults: { dark: string; light: string; highContrast: string; highContrastLight: string } }[] {
  return FAMILIES.flatMap((f) => {
    const c = FAMILY_COLOURS[f];
    const name = f.startsWith('other') ? `other entity types (slot ${f.slice(5)})` : `${f} entities`;
    return [
      { id: colourId(f), description: `Underline of ${name} (${c.label}).`, defaults: { dark: c.border, light: c.light, highContrast: c.hc, highContrastLight: c.light } },
      {
        id: backgroundColourId(f),
        description: `Background of ${name}.`,
        defaults: { dark: c.border + BACKGROUND_ALPHA, light: c.light + '30', highContrast: '#00000000', highContrastLight: '#00000000' },
      },
    ];
  });
}

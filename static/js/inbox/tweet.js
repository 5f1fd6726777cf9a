// X counts characters by weight: URLs 23, CJK and emoji 2, most other scripts 1.
const URL_RE = /https?:\/\/\S+|(?<![@\w])(?:[a-z0-9-]+\.)+(?:com|org|net|fr|eu|de|es|nl|uk|io|co)(?:\/\S*)?/gi;

export function tweetLength(text) {
  let total = 0;
  const plain = text.normalize("NFC").replace(URL_RE, () => {
    total += 23;
    return "";
  });
  let afterJoiner = false;
  for (const char of plain) {
    const code = char.codePointAt(0);
    if (code === 0x200d) {
      afterJoiner = true;
      continue;
    }
    const mark = /\p{M}/u.test(char) || (code >= 0xfe00 && code <= 0xfe0f) || (code >= 0x1f3fb && code <= 0x1f3ff);
    const light = code <= 0x10ff || (code >= 0x2000 && code <= 0x200d) || (code >= 0x2010 && code <= 0x201f) || (code >= 0x2032 && code <= 0x2037);
    const weight = mark ? 0 : light ? 1 : 2;
    total += afterJoiner && weight === 2 ? 0 : weight;
    afterJoiner = false;
  }
  return total;
}

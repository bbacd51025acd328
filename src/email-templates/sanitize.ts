import sanitizeHtml from 'sanitize-html';
import { mailStyles } from '../../emails/components/mail-frame.js';

/**
 * The body format of an editable template: a small subset of HTML. Everything else is
 * removed, never escaped into view: scripts, styles, frames and forms with what they contain,
 * event handlers and every other attribute, and links other than http(s) and mailto.
 */
export const allowedTags = ['p', 'br', 'strong', 'b', 'em', 'i', 'u', 'a', 'ul', 'ol', 'li', 'h2', 'h3', 'blockquote', 'hr'];

const strict: sanitizeHtml.IOptions = {
  allowedTags,
  allowedAttributes: { a: ['href', 'class'] },
  // `<a class="button">` is the one class: it turns a link into the layout's button.
  allowedClasses: { a: ['button'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // Their text is code or a fallback, never content for the reader: dropped with the tag.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'select', 'noscript', 'title', 'template', 'iframe', 'object', 'embed', 'svg', 'math', 'xmp', 'noembed', 'noframes', 'plaintext', 'form'],
};

export function sanitizeBody(html: string): string {
  return sanitizeHtml(html, strict);
}

const css = (style: Record<string, string | number>) =>
  Object.entries(style)
    .map(([key, value]) => `${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}:${value}`)
    .join(';');

const textStyle = css({ ...mailStyles.text, margin: '16px 0' });
const styles: Record<string, string> = {
  p: textStyle,
  li: textStyle,
  ul: css({ margin: '16px 0', paddingLeft: '24px' }),
  ol: css({ margin: '16px 0', paddingLeft: '24px' }),
  h2: css(mailStyles.subheading),
  h3: css({ ...mailStyles.subheading, fontSize: '15px' }),
  blockquote: css({ ...mailStyles.text, margin: '16px 0', paddingLeft: '12px', borderLeft: '3px solid #e4e4e7' }),
  hr: css({ border: 'none', borderTop: '1px solid #e4e4e7', margin: '24px 0' }),
};

/**
 * Gives already sanitised markup the layout's inline styles (mail clients ignore most style
 * sheets). Attributes are rebuilt from scratch here, so only our styles can come out.
 */
export function styleBody(safeHtml: string): string {
  const styled = (tagName: string) => () => ({ tagName, attribs: { style: styles[tagName]! } });
  return sanitizeHtml(safeHtml, {
    allowedTags,
    allowedAttributes: { '*': ['style'], a: ['href', 'style', 'target'] },
    allowedSchemes: strict.allowedSchemes!,
    allowProtocolRelative: false,
    transformTags: {
      ...Object.fromEntries(Object.keys(styles).map((tag) => [tag, styled(tag)])),
      a: (_tagName, attribs) => {
        const button = (attribs.class ?? '').split(/\s+/).includes('button');
        const style = button ? css({ ...mailStyles.button, display: 'inline-block' }) : css(mailStyles.link);
        return { tagName: 'a', attribs: { ...(attribs.href ? { href: attribs.href } : {}), target: '_blank', style } };
      },
    },
  });
}

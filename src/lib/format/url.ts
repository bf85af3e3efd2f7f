/** The host of a URL, for messages ("api.example.com:8443"); the text itself if it is not a URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

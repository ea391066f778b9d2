// Saving files the portal fetched: CSV exports and invoice CSVs.

/** Offer a Blob as a download named `filename`. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function saveText(text, filename, type = "text/csv;charset=utf-8") {
  saveBlob(new Blob([text], { type }), filename);
}

/**
 * Download a presigned URL under a chosen file name: fetched (the bucket allows the portal's
 * origin) and saved as a Blob; if the fetch is refused, the browser simply opens the link.
 */
export async function saveUrl(url, filename) {
  let response;
  try {
    response = await fetch(url);
  } catch {
    window.location.assign(url);
    return;
  }
  if (!response.ok) throw new Error(`The file could not be downloaded (HTTP ${response.status}); the link may have expired.`);
  saveBlob(await response.blob(), filename);
}

"""The HTTP client: tokens, pacing, retries and safety for one GET of Spotify JSON."""

"""Admin console tests: forms, roles and CSRF over HTTP (SQLite and PostgreSQL), and browser
tests in Debian's headless Chromium driven by Playwright (SQLite only, to keep CI fast)."""

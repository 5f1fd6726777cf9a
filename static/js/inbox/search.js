// search: filled by the search module of the inbox.

// profile: filled by the profile module of the inbox.

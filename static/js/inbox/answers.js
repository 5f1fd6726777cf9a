// answers: filled by the answers module of the inbox.

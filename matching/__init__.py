"""Technology matchmaking: offer/demand records → matches → a planned session → printouts."""

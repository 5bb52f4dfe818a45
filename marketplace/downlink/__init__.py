"""The downlink (日用品下乡): daily goods into the villages through their service points."""

from horde.cli import main

raise SystemExit(main())

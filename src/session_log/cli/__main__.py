from session_log.cli import main

main()

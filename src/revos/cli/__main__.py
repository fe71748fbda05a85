from revos.cli import main

main()

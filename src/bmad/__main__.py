from bmad.cli.main import run

run()

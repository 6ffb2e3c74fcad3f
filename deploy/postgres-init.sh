#!/bin/sh
# One database for the app, one for Rasa's trackers, each with its own user.
set -e
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
CREATE USER bot PASSWORD '$BOT_DB_PASSWORD';
CREATE DATABASE bot OWNER bot;
CREATE USER rasa PASSWORD '$RASA_DB_PASSWORD';
CREATE DATABASE rasa OWNER rasa;
SQL

//! The `suture` server: configuration, boot, authentication, the JSON API, webhooks, the
//! dashboard and the command line. Nothing depends on this crate.

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod hooks;
pub mod routes;
pub mod views;
pub mod views_json;
pub mod web;

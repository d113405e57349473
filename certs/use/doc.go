// Package use is the use of certificates by other departments (用证, issue 20): the holder's
// consent (a short-lived code issued on the public verification page after the holder proves
// possession, or a standing authorisation the city center gives a using organisation for a
// catalogue item), the use request of a department user, the purpose-stamped copy (加注件:
// the certificate's PDF with a visible purpose stamp signed by the city center's seal as a
// second, incremental signature), the verification of a copy, and the use log per certificate.
package use

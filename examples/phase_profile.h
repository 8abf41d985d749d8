/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by phase_profile.bpf.c and phase_profile.cpp. */
#ifndef PHASE_PROFILE_H
#define PHASE_PROFILE_H

#define PHASE_SLOTS 8		/* phases 1..7; slot 0 is "no phase" */
#define PHASE_NONE 0

#endif

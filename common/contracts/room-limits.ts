/** How many lotteries a room document keeps (the most recent). */
export const maxRoomLotteries = 20;

/** How many announcements a room document keeps. */
export const maxAnnouncements = 20;
